/** The product page: the verdict first, then what the product is, then where it has been. */
import type { Verification, Verdict } from '../../chain/registry'
import type { TimelineEvent } from '../../chain/trace'

const VERDICTS: Record<Verdict, { title: string; detail: string; tone: string }> = {
  authentic: { title: 'Authentic', detail: 'This item was registered by its brand and has not been sold to anyone yet.', tone: 'good' },
  'not registered': {
    title: 'Not registered',
    detail: 'No brand registered this item. The code may be mistyped, or the product may not be genuine.',
    tone: 'bad',
  },
  recalled: { title: 'Recalled', detail: 'The brand recalled this item or its lot. Do not use it; return it where you bought it.', tone: 'bad' },
  claimed: {
    title: 'Already sold to someone else',
    detail: 'This item was already claimed at its first sale. If you are buying it new, this QR code may be a copy.',
    tone: 'warn',
  },
  decommissioned: { title: 'Out of circulation', detail: 'The brand took this item out of circulation (destroyed, lost or returned).', tone: 'bad' },
}

export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Record<string, string> = {},
  ...children: Array<Node | string | null | undefined>
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag)
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v)
  for (const child of children) if (child !== null && child !== undefined) node.append(child)
  return node
}

function short(hex: string): string {
  return `${hex.slice(0, 10)}…${hex.slice(-6)}`
}

/** The claimed verdict when the first buyer is the connected account. */
const YOURS = {
  title: 'Yours',
  detail: 'You are this item’s first buyer: the chain records it as sold to your address for this item, which only this item uses.',
  tone: 'good',
}

/** The verdict; `me` is the connected person's address for this item (wallet/shopper.ts `itemAccount`). */
export function renderVerdict(v: Verification, productName?: string, me?: string): HTMLElement {
  const mine = v.verdict === 'claimed' && me !== undefined && v.view.claimedBy.toLowerCase() === me.toLowerCase()
  const info = mine ? YOURS : VERDICTS[v.verdict]
  const verdict = el(
    'section',
    { class: `verdict verdict-${info.tone}`, 'data-verdict': v.verdict, 'data-mine': String(mine), 'aria-labelledby': 'verdict-title' },
    el('h2', { id: 'verdict-title' }, info.title),
    el('p', {}, info.detail),
  )
  if (v.verdict === 'claimed' && !mine) verdict.append(el('p', { class: 'owner' }, 'First buyer: ', el('code', {}, v.view.claimedBy)))
  if (v.merkle) verdict.append(el('p', { class: 'merkle' }, 'Registered in a Merkle-committed lot: its proof was checked on chain.'))
  const article = el('article', { class: 'product', 'data-item': v.item }, verdict)
  if (v.view.registered) {
    const facts = el('dl', { class: 'facts' })
    const add = (term: string, value: string | undefined, key: string) => {
      if (value) facts.append(el('div', { 'data-fact': key }, el('dt', {}, term), el('dd', {}, value)))
    }
    add('Product', productName, 'product')
    add('Brand', v.brand?.name, 'brand')
    add('GTIN', v.gtin, 'gtin')
    add('Lot', v.lot, 'lot')
    add('Best before', v.expiry, 'expiry')
    add('Registered in block', v.view.registeredAt.toString(), 'block')
    article.append(el('section', { class: 'about', 'aria-label': 'About this product' }, facts))
  }
  article.append(el('p', { class: 'item-id' }, 'Item id ', el('code', { title: v.item }, short(v.item))))
  return article
}

/** Adds the product's name to the facts of a verdict already shown (it arrives after the verdict). */
export function showProductName(article: HTMLElement, name: string): void {
  const facts = article.querySelector('.about .facts')
  if (!facts || facts.querySelector('[data-fact="product"]')) return
  facts.prepend(el('div', { 'data-fact': 'product' }, el('dt', {}, 'Product'), el('dd', {}, name)))
}

function describe(e: TimelineEvent): { step: string; where?: string; disposition?: string } {
  const ev = e.event ?? {}
  const shortName = (value: unknown) => (typeof value === 'string' ? value.replace(/^.*[:/]/, '').replace(/_/g, ' ') : undefined)
  const location = (ev.bizLocation ?? ev.readPoint) as { id?: string } | undefined
  return {
    step: shortName(ev.bizStep) ?? e.eventType.replace(/Event$/, '').toLowerCase(),
    where: location?.id,
    disposition: shortName(ev.disposition),
  }
}

const RELATION_TEXT: Record<string, string> = {
  item: 'this item',
  lot: 'its lot',
  product: 'its product',
  container: 'its case or pallet',
  input: 'an ingredient',
}

/**
 * The history, oldest first, each event marked verified or not (and why). `missing` is how many
 * records the ledger holds on the item's own chains that the page's lists did not give.
 */
export function renderTimeline(events: TimelineEvent[], missing = 0): HTMLElement {
  const section = el('section', { class: 'timeline', 'aria-labelledby': 'timeline-title' }, el('h2', { id: 'timeline-title' }, 'Where it has been'))
  if (missing > 0) {
    section.append(
      el(
        'p',
        { class: 'problem incomplete', role: 'alert', 'data-missing': String(missing) },
        `The chain holds ${missing} more ${missing === 1 ? 'record' : 'records'} for this item than this page could list: this history is incomplete.`,
      ),
    )
  }
  if (events.length === 0) {
    section.append(el('p', { class: 'empty' }, 'No supply-chain events are recorded for this item.'))
    return section
  }
  const verified = events.filter((e) => e.verified).length
  section.append(el('p', { class: 'summary' }, `${events.length} events, ${verified} verified against the chain.`))
  const list = el('ol', { class: 'events' })
  for (const e of events) {
    const d = describe(e)
    const mark = e.verified
      ? el('span', { class: 'mark mark-ok', title: 'The stored event matches the hash anchored on chain' }, '✓ verified')
      : el('span', { class: 'mark mark-bad', title: e.problem ?? '' }, '✗ not verified')
    const li = el(
      'li',
      { class: 'event', 'data-step': d.step, 'data-verified': String(e.verified) },
      el('time', { datetime: e.time.toISOString() }, e.time.toISOString().slice(0, 16).replace('T', ' ') + ' UTC'),
      el('h3', {}, d.step, ' ', mark),
      el(
        'p',
        { class: 'meta' },
        `${e.eventType}${e.action ? ' ' + e.action : ''} · on ${e.relations.map((r) => RELATION_TEXT[r] ?? r).join(' and ')}`,
        d.disposition ? ` · ${d.disposition}` : '',
      ),
    )
    if (d.where) li.append(el('p', { class: 'where' }, 'At ', el('code', {}, d.where)))
    li.append(el('p', { class: 'by' }, 'Recorded by ', el('code', { title: e.actor }, short(e.actor)), ` in block ${e.block}`))
    if (!e.verified && e.problem) li.append(el('p', { class: 'problem' }, e.problem))
    list.append(li)
  }
  section.append(list)
  return section
}

/**
 * For a recalled item: who had custody at each step and who recorded it, oldest first, as
 * `o2ochain trace show --responsibility` prints it. `kinds` maps "brand:actor" to the actor's kind.
 */
export function renderResponsibility(events: TimelineEvent[], kinds: Map<string, string | undefined>): HTMLElement {
  const section = el(
    'section',
    { class: 'responsibility', 'aria-labelledby': 'responsibility-title' },
    el('h2', { id: 'responsibility-title' }, 'Who had it'),
    el('p', {}, 'This item is recalled. Each step below was recorded on chain by the party that had it; the brand can follow up with each.'),
  )
  if (events.length === 0) {
    section.append(el('p', { class: 'empty' }, 'No party recorded this item’s custody on chain.'))
    return section
  }
  const table = el(
    'table',
    { class: 'custody' },
    el('thead', {}, el('tr', {}, el('th', { scope: 'col' }, 'When'), el('th', { scope: 'col' }, 'Step'), el('th', { scope: 'col' }, 'Who'))),
  )
  const body = el('tbody', {})
  for (const e of events) {
    const d = describe(e)
    const kind = kinds.get(`${e.brand}:${e.actor}`)
    body.append(
      el(
        'tr',
        { 'data-step': d.step, 'data-kind': kind ?? 'unknown' },
        el('td', {}, el('time', { datetime: e.time.toISOString() }, e.time.toISOString().slice(0, 10))),
        el('td', {}, d.step, d.where ? el('br', {}) : null, d.where ? el('small', {}, d.where.replace(/^.*[:/]/, '')) : null),
        el('td', {}, kind ? `${kind} ` : '', el('code', { title: e.actor }, short(e.actor)), e.verified ? '' : ' (not verified)'),
      ),
    )
  }
  table.append(body)
  section.append(table)
  return section
}
