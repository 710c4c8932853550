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

/** The sentence `key` in the page's language, with `{name}` replaced by `vars.name`. */
export function t(key: MessageKey, vars: Record<string, string | number> = {}): string {
  const text = LOCALES[current].messages[key] ?? EN[key]
  return text.replace(/\{(\w+)\}/g, (whole, name: string) => (name in vars ? String(vars[name]) : whole))
}

/** A CBV business step's or disposition's words in the page's language (undefined when the catalogue has none). */
export function cbvWords(kind: 'step' | 'disposition', code: string): string | undefined {
  const table = kind === 'step' ? LOCALES[current].steps : LOCALES[current].dispositions
  return code in table ? table[code] : undefined
}

/** A time as people of the page's language write it ("3 Dec 2026, 14:05" / "2026年12月3日 14:05"). */
export function formatTime(time: Date, withTime = true): string {
  return new Intl.DateTimeFormat(current, withTime ? { dateStyle: 'medium', timeStyle: 'short' } : { dateStyle: 'medium' }).format(time)
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
