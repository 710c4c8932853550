/**
 * The page's two languages: Simplified Chinese and English. The language is, in order, the one the
 * address names (`?lang=zh-CN`), the one the shopper chose before (the switch in the header, kept
 * on this device), or the first of the browser's languages the page has (any `zh` is zh-CN),
 * English otherwise. Every sentence comes from one catalogue per language (en.ts, zh-CN.ts);
 * dates, numbers and amounts are formatted for the language with `Intl`.
 */
import { DISPOSITION_WORDS as EN_DISPOSITIONS, EN, STEP_WORDS as EN_STEPS, type MessageKey } from './en'
import { DISPOSITION_WORDS as ZH_DISPOSITIONS, STEP_WORDS as ZH_STEPS, ZH } from './zh-CN'

export type Locale = 'en' | 'zh-CN'
export type { MessageKey }

export const LOCALES: Record<Locale, { name: string; messages: Record<MessageKey, string>; steps: Record<string, string>; dispositions: Record<string, string> }> = {
  'zh-CN': { name: '中文', messages: ZH, steps: ZH_STEPS, dispositions: ZH_DISPOSITIONS },
  en: { name: 'English', messages: EN, steps: EN_STEPS, dispositions: EN_DISPOSITIONS },
}
const STORAGE_KEY = 'o2ochain.language'

/** The language for an address's query, a stored choice and the browser's languages (see the module's comment). */
export function pickLocale(query: string, stored: string | null, languages: readonly string[]): Locale {
  const asked = new URLSearchParams(query).get('lang')
  for (const candidate of [asked, stored, ...languages]) {
    if (!candidate) continue
    const tag = candidate.toLowerCase()
    if (tag.startsWith('zh')) return 'zh-CN'
    if (tag.startsWith('en')) return 'en'
  }
  return 'en'
}

function storedChoice(): string | null {
  try {
    return window.localStorage.getItem(STORAGE_KEY)
  } catch {
    return null // storage refused (a private window): the browser's languages decide
  }
}

let current: Locale = typeof window === 'undefined' ? 'en' : pickLocale(window.location.search, storedChoice(), navigator.languages ?? [navigator.language])

/** The page's language now. */
export function locale(): Locale {
  return current
}

/** Whether the catalogues have a sentence `key` (one named after data, such as a contract error's name). */
export function isMessageKey(key: string): key is MessageKey {
  return key in EN
}

/** The sentence `key` in the page's language, with `{name}` replaced by `vars.name`. */
export function t(key: MessageKey, vars: Record<string, string | number> = {}): string {
  const text = LOCALES[current].messages[key] ?? EN[key]
  return text.replace(/\{(\w+)\}/g, (whole, name: string) => (name in vars ? String(vars[name]) : whole))
}

/**
 * The sentence `key` as a list of texts and nodes: `{name}` is replaced by `vars.name`, which may
 * be a node (a link, a time, a code) that keeps its place in the sentence whatever the language's
 * word order.
 */
export function tParts(key: MessageKey, vars: Record<string, Node | string | number>): Array<Node | string> {
  const text = LOCALES[current].messages[key] ?? EN[key]
  const parts: Array<Node | string> = []
  let last = 0
  for (const match of text.matchAll(/\{(\w+)\}/g)) {
    const at = match.index ?? 0
    if (at > last) parts.push(text.slice(last, at))
    const value = vars[match[1]]
    parts.push(value === undefined ? match[0] : typeof value === 'number' ? String(value) : value)
    last = at + match[0].length
  }
  if (last < text.length) parts.push(text.slice(last))
  return parts
}

/** Sentence `one` or `many` for `count`, as the page's language counts (`Intl.PluralRules`), with `{count}` put in. */
export function tCount(count: number, one: MessageKey, many: MessageKey, vars: Record<string, string | number> = {}): string {
  const plural = cached('plural', () => new Intl.PluralRules(current)).select(count)
  return t(plural === 'one' ? one : many, { count: formatNumber(count), ...vars })
}

type Formatter = Intl.NumberFormat | Intl.DateTimeFormat | Intl.ListFormat | Intl.PluralRules
/** The page's formatters, made once each (the language does not change while the page lives). */
const formatters = new Map<string, Formatter>()
function cached<F extends Formatter>(key: string, make: () => F): F {
  let found = formatters.get(key)
  if (!found) formatters.set(key, (found = make()))
  return found as F
}

/** A whole number as the page's language writes it ("1,234"). */
export function formatNumber(value: number | bigint): string {
  return cached('number', () => new Intl.NumberFormat(current)).format(value)
}

/**
 * An exact decimal (a token amount in words, "1234.500001"), grouped and pointed as the page's
 * language writes numbers, digit for digit: never through a float, so no amount is ever rounded.
 */
export function formatDecimal(exact: string): string {
  const negative = exact.startsWith('-')
  const [whole, fraction] = (negative ? exact.slice(1) : exact).split('.')
  const numbers = cached('number', () => new Intl.NumberFormat(current))
  const point = numbers.formatToParts(1.5).find((p) => p.type === 'decimal')?.value ?? '.'
  return `${negative ? '-' : ''}${numbers.format(BigInt(whole || '0'))}${fraction ? point + fraction : ''}`
}

/** A share (0.05) as a percentage in the page's language ("5%"). */
export function formatPercent(share: number): string {
  return cached('percent', () => new Intl.NumberFormat(current, { style: 'percent', maximumFractionDigits: 2 })).format(share)
}

/** A span of time in whole days, hours or minutes, in words ("30 days", "30天"). */
export function formatDuration(seconds: number): string {
  const [unit, size] = seconds % 86_400 === 0 ? (['day', 86_400] as const) : seconds % 3_600 === 0 ? (['hour', 3_600] as const) : (['minute', 60] as const)
  return cached(`unit-${unit}`, () => new Intl.NumberFormat(current, { style: 'unit', unit, unitDisplay: 'long' })).format(Math.round(seconds / size))
}

/** "a, b and c" ("a、b和c"), or with `or`, as the page's language lists things. */
export function formatList(items: string[], type: 'conjunction' | 'disjunction' = 'conjunction'): string {
  return cached(`list-${type}`, () => new Intl.ListFormat(current, { type })).format(items)
}

/**
 * A contract time (unix seconds) in UTC, as the page's language writes dates: the day alone, or
 * with the time of day ("Dec 4, 2026, 10:04 AM UTC" / "2026年12月4日 10:04（UTC）").
 */
export function formatUtc(seconds: number | bigint, show: 'date' | 'minute' | 'second' = 'minute'): string {
  const at = Number(seconds) * 1000
  if (show === 'date') return cached('utc-day', () => new Intl.DateTimeFormat(current, { dateStyle: 'medium', timeZone: 'UTC' })).format(at)
  const timeStyle = show === 'second' ? 'medium' : 'short'
  return t('time.utc', { time: cached(`utc-${show}`, () => new Intl.DateTimeFormat(current, { dateStyle: 'medium', timeStyle, timeZone: 'UTC' })).format(at) })
}

/** The date and the time of day of a contract time, apart (UTC), for a table's two lines. */
export function utcParts(seconds: number | bigint, withSeconds = false): { date: string; time: string } {
  const at = Number(seconds) * 1000
  const date = formatUtc(seconds, 'date')
  const time = cached(`utc-clock-${withSeconds}`, () => new Intl.DateTimeFormat(current, { timeStyle: withSeconds ? 'medium' : 'short', timeZone: 'UTC' })).format(at)
  return { date, time }
}

/** A CBV business step's or disposition's words in the page's language (undefined when the catalogue has none). */
export function cbvWords(kind: 'step' | 'disposition', code: string): string | undefined {
  const table = kind === 'step' ? LOCALES[current].steps : LOCALES[current].dispositions
  return code in table ? table[code] : undefined
}

/** A time as people of the page's language write it ("3 Dec 2026, 14:05" / "2026年12月3日 14:05"). */
export function formatTime(time: Date, withTime = true): string {
  // One formatter per kind, as above: making one costs a phone milliseconds, and a timeline formats a hundred times.
  return cached(`time-${withTime}`, () => new Intl.DateTimeFormat(current, withTime ? { dateStyle: 'medium', timeStyle: 'short' } : { dateStyle: 'medium' })).format(time)
}

/** Switch the page to `next`: remembered on this device, and the page shown again in it. */
export function chooseLocale(next: Locale): void {
  try {
    window.localStorage.setItem(STORAGE_KEY, next)
  } catch {
    // not remembered; the address still carries it
  }
  const url = new URL(window.location.href)
  url.searchParams.set('lang', next)
  window.location.assign(url)
}

/** The language switch: a link to the page in the other language, in that language's own name. */
export function languageSwitch(): HTMLElement {
  const nav = document.createElement('nav')
  nav.className = 'language'
  nav.setAttribute('aria-label', t('site.language'))
  for (const [code, { name }] of Object.entries(LOCALES) as Array<[Locale, (typeof LOCALES)[Locale]]>) {
    if (code === current) continue
    const link = document.createElement('a')
    const url = new URL(window.location.href)
    url.searchParams.set('lang', code)
    link.href = url.toString()
    link.lang = code
    link.hreflang = code
    link.textContent = name
    link.addEventListener('click', (event) => {
      event.preventDefault()
      chooseLocale(code)
    })
    nav.append(link)
  }
  return nav
}
