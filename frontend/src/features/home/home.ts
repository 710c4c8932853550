/**
 * The home page (no ?item): what the page is for, the camera first, typing a code second, and on a
 * demo the sample items and merchant pages its config.json lists (a real deployment lists none).
 */
import type { Config } from '../../chain/config'
import { el } from '../product/view'
import { languageSwitch, locale, t, type MessageKey } from '../../i18n'

/**
 * Fill the page's fixed words (index.html names them by catalogue key: `data-msg`,
 * `data-msg-placeholder`, `data-msg-label`) in the page's language, mark the document's language
 * and add the language switch; synchronous, before anything is read from the chain.
 */
export function applyHomeMessages(root: Document): void {
  root.documentElement.lang = locale()
  for (const node of root.querySelectorAll<HTMLElement>('[data-msg]')) node.textContent = t(node.dataset.msg as MessageKey)
  for (const node of root.querySelectorAll<HTMLInputElement>('[data-msg-placeholder]')) node.placeholder = t(node.dataset.msgPlaceholder as MessageKey)
  for (const node of root.querySelectorAll<HTMLElement>('[data-msg-label]')) node.setAttribute('aria-label', t(node.dataset.msgLabel as MessageKey))
  root.querySelector('header.site')?.append(languageSwitch())
}

/** What the address asks for: the home page, or one of the pages main.ts opens. */
export function viewOf(query: URLSearchParams): 'home' | 'item' | 'merchant' | 'voucher' | 'account' {
  if (query.has('merchant')) return 'merchant'
  if (query.has('voucher')) return 'voucher'
  if (query.has('account')) return 'account'
  return query.get('item') ? 'item' : 'home'
}

function links(id: string, title: string, entries: Array<{ label: string; href: string }>): HTMLElement {
  return el(
    'div',
    { class: 'sample-group' },
    el('h3', { id }, title),
    el('ul', { 'aria-labelledby': id }, ...entries.map((e) => el('li', {}, el('a', { href: e.href }, e.label)))),
  )
}

/** The demo's sample items and merchant pages from config.json, into `#samples`; nothing when it lists none. */
export function showSamples(root: Document, config: Config): void {
  const box = root.getElementById('samples')
  if (!box || config.samples.length === 0) return
  const label = (text: string) => text.charAt(0).toUpperCase() + text.slice(1) // "recalled", as the demo prints it, starts a list entry
  const items = config.samples.flatMap((s) => ('item' in s ? [{ label: label(s.label), href: `?item=${encodeURIComponent(s.item)}` }] : []))
  const shops = config.samples.flatMap((s) => ('merchant' in s ? [{ label: label(s.label), href: `?merchant=${encodeURIComponent(s.merchant)}` }] : []))
  box.replaceChildren(
    el('h2', { id: 'samples-title' }, t('home.samplesTitle')),
    el('p', { class: 'hint' }, t('home.samplesNote')),
    ...(items.length ? [links('samples-items', t('home.sampleItems'), items)] : []),
    ...(shops.length ? [links('samples-shops', t('home.merchants'), shops)] : []),
  )
  box.hidden = false
}
