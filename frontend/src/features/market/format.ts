/** Amounts, times and names as people read them on the market sections and merchant pages, in the page's language. */
import { formatUnits } from 'viem'
import type { Currency, PriceType } from '../../chain/guarantee'
import { formatDecimal, formatUtc, t, type MessageKey } from '../../i18n'

/** Most decimals an amount shows; a longer one is rounded and marked "≈" (the exact value in a title). */
const MAX_DECIMALS = 6

export interface Amount {
  /** "0.133 ETH", "≈ 0.333333 USDC", "1,250 USDC": grouped for the page's language, every digit kept. */
  text: string
  /** The exact decimal amount without symbol or grouping ("1250.5"). */
  exact: string
  /** For the chart: the amount as a number (display only). */
  value: number
}

/**
 * An amount of `currency` base units in words. The digits come from the integer itself
 * (formatUnits), never from a float; only the grouping and the decimal point are the language's.
 */
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
  return { text: `${approx ? '≈ ' : ''}${formatDecimal(shown)} ${currency.symbol}`, exact, value: Number(exact) }
}

const PRICE_TYPE_KEYS: Record<PriceType, MessageKey> = {
  regular: 'priceType.regular',
  promotion: 'priceType.promotion',
  clearance: 'priceType.clearance',
  'limited-quantity': 'priceType.limitedQuantity',
  'price-error': 'priceType.priceError',
}

const EXCLUDED_KEYS: Record<PriceType, MessageKey> = {
  regular: 'excluded.regular',
  promotion: 'excluded.promotion',
  clearance: 'excluded.clearance',
  'limited-quantity': 'excluded.limitedQuantity',
  'price-error': 'excluded.priceError',
}

/** "Regular price", "Clearance": a kind of price as a label. */
export function priceTypeText(type: PriceType): string {
  return t(PRICE_TYPE_KEYS[type])
}

/** "clearance", "declared price-error": a kind of price in a sentence's middle. */
export function excludedTypeText(type: PriceType): string {
  return t(EXCLUDED_KEYS[type])
}

const KIND_KEYS: Record<string, [MessageKey, MessageKey]> = {
  'online-shop': ['channelKind.onlineShop', 'channelShort.onlineShop'],
  store: ['channelKind.store', 'channelShort.store'],
  marketplace: ['channelKind.marketplace', 'channelShort.marketplace'],
  app: ['channelKind.app', 'channelShort.app'],
}

/** A channel kind in one word, for chart labels. */
export function kindShort(kind: string): string {
  return kind in KIND_KEYS ? t(KIND_KEYS[kind][1]) : kindText(kind)
}

export function kindText(kind: string): string {
  return kind in KIND_KEYS ? t(KIND_KEYS[kind][0]) : t('channelKind.other', { kind })
}

/** "Dec 1, 2026" / "2026年12月1日" (UTC). */
export function formatDate(seconds: number): string {
  return formatUtc(seconds, 'date')
}

/** "Dec 1, 2026, 10:04 AM UTC" / "2026年12月1日 10:04（UTC）", with seconds when `withSeconds`. */
export function formatDateTime(seconds: number, withSeconds = false): string {
  return formatUtc(seconds, withSeconds ? 'second' : 'minute')
}

export function isoTime(seconds: number): string {
  return new Date(seconds * 1000).toISOString()
}

export function merchantHref(channel: number): string {
  return `?merchant=${channel}`
}

/** "0x1234…abcd": the page's one way to shorten an address. */
export { short as shortAddress } from '../../wallet/widget'
