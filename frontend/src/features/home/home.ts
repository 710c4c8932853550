/**
 * The home page (no ?item): what the page is for, the camera first, typing a code second, and on a
 * demo the sample items and merchant pages its config.json lists (a real deployment lists none).
 */
import type { Config } from '../../chain/config'
import { el } from '../product/view'
import { HOME, type HomeMessage } from './messages'

/** Fill the lookup box's words from messages.ts; synchronous, before anything is read from the chain. */
export function applyHomeMessages(root: Document): void {
  for (const node of root.querySelectorAll<HTMLElement>('[data-msg]')) node.textContent = HOME[node.dataset.msg as HomeMessage] ?? node.textContent
  for (const node of root.querySelectorAll<HTMLInputElement>('[data-msg-placeholder]')) node.placeholder = HOME[node.dataset.msgPlaceholder as HomeMessage] ?? ''
  for (const node of root.querySelectorAll<HTMLElement>('[data-msg-label]')) node.setAttribute('aria-label', HOME[node.dataset.msgLabel as HomeMessage] ?? '')
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
    el('h2', { id: 'samples-title' }, HOME.samplesTitle),
    el('p', { class: 'hint' }, HOME.samplesNote),
    ...(items.length ? [links('samples-items', HOME.sampleItems, items)] : []),
    ...(shops.length ? [links('samples-shops', HOME.merchants, shops)] : []),
  )
  box.hidden = false
}
