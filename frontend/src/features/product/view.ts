/** The product page: the verdict first, then what the product is, then where it has been. */
import type { Verification, Verdict } from '../../chain/registry'
import type { Notice, Recall } from '../../chain/recall'
import { glnOfLocation } from '../../chain/gs1'
import type { Party, TimelineEvent } from '../../chain/trace'
import { describeEvent, KIND_WORDS, type Described } from './words'

const VERDICTS: Record<Verdict, { title: string; detail: string; tone: string }> = {
  authentic: { title: 'Authentic', detail: 'This item was registered by its brand and has not been sold to anyone yet.', tone: 'good' },
  'not registered': {
    title: 'Not registered',
    detail: 'No brand registered this item. The code may be mistyped, or the product may not be genuine.',
    tone: 'bad',
  },
  recalled: { title: 'Recalled', detail: 'The brand recalled this item or its lot. Do not use it: why, and what to do, is just below.', tone: 'bad' },
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

/** A time as the shopper's browser writes dates and times ("3 Dec 2026, 14:05"). */
function when(t: Date, withTime = true): string {
  return new Intl.DateTimeFormat(undefined, withTime ? { dateStyle: 'medium', timeStyle: 'short' } : { dateStyle: 'medium' }).format(t)
}

/** What a kind of party is, after its name: "Hillside Strawberry Farm (farm)". */
const KIND_LABELS: Record<string, string> = { farm: 'farm', plant: 'factory', logistics: 'carrier', store: 'shop', other: 'partner' }

/** Who recorded an event, in words: its name as the brand published it and its kind, else its kind alone ("the carrier"). */
function recorder(party: Party | undefined): string {
  const kind = party?.kind
  if (party?.name) return kind ? `${party.name} (${KIND_LABELS[kind] ?? KIND_LABELS.other})` : party.name
  return kind ? (KIND_WORDS[kind] ?? KIND_WORDS.other) : 'a party the brand never authorised'
}

type Places = Map<string, Map<string, { name: string; city?: string }>>

/** The parties' places of each brand, by GLN: a place is named when its brand named it in a profile. */
function placesByBrand(parties: Map<string, Party>): Places {
  const found: Places = new Map()
  for (const [key, party] of parties) {
    const brand = key.split(':')[0]
    const places = found.get(brand) ?? new Map<string, { name: string; city?: string }>()
    for (const [gln, place] of party.places) places.set(gln, place)
    found.set(brand, places)
  }
  return found
}

/** Where an event happened, by name and city, when its brand named the place ("the jam kitchen, Jinzhou"). */
function placeOf(e: TimelineEvent, places: Places): string | undefined {
  const ev = e.event ?? {}
  for (const key of ['bizLocation', 'readPoint']) {
    const id = (ev[key] as { id?: unknown } | undefined)?.id
    const gln = typeof id === 'string' ? glnOfLocation(id) : undefined
    const place = gln ? places.get(String(e.brand))?.get(gln) : undefined
    if (place) return place.city && !place.name.includes(place.city) ? `${place.name}, ${place.city}` : place.name
  }
  return undefined
}

/** The location ids of an event, for the record behind it. */
function locationRows(e: TimelineEvent): HTMLElement[] {
  const rows: HTMLElement[] = []
  for (const [key, label] of [['bizLocation', 'Business location'], ['readPoint', 'Read point']] as const) {
    const id = ((e.event ?? {})[key] as { id?: unknown } | undefined)?.id
    if (typeof id === 'string') rows.push(el('dt', {}, label), el('dd', {}, el('code', {}, id)))
  }
  return rows
}

/** The record behind an event, one tap away: the parties' addresses, the block and the EPCIS event itself. */
function record(e: TimelineEvent, d: Described): HTMLElement {
  const rows = el(
    'dl',
    { class: 'record-facts' },
    el('dt', {}, 'Recorded by'),
    el('dd', {}, el('code', {}, e.actor)),
    el('dt', {}, 'Block'),
    el('dd', {}, String(e.block)),
    ...locationRows(e),
    el('dt', {}, 'EPCIS'),
    el('dd', {}, `${e.eventType}${e.action ? ' ' + e.action : ''}, business step ${d.code}`),
  )
  const body = el('div', { class: 'record-body' }, rows)
  if (e.event) body.append(el('pre', { class: 'record-json' }, JSON.stringify(e.event, null, 2)))
  return el('details', { class: 'record' }, el('summary', {}, 'Show the record'), body)
}

/**
 * The history, oldest first, each event marked verified or not (and why). `missing` is how many
 * records the ledger holds on the item's own chains that the page's lists did not give. `parties`
 * maps "brand:actor" to the recording party (its kind on chain, its name as its brand published it).
 */
export function renderTimeline(events: TimelineEvent[], missing = 0, parties: Map<string, Party> = new Map()): HTMLElement {
  const places = placesByBrand(parties)
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
    const party = parties.get(`${e.brand}:${e.actor}`)
    const d = describeEvent(e, party?.kind)
    const where = placeOf(e, places)
    const mark = e.verified
      ? el('span', { class: 'mark mark-ok', title: 'The stored event matches the hash anchored on chain' }, '✓ verified')
      : el('span', { class: 'mark mark-bad', title: e.problem ?? '' }, '✗ not verified')
    const li = el(
      'li',
      { class: d.recall ? 'event event-recall' : 'event', 'data-step': d.code, 'data-verified': String(e.verified) },
      el('time', { datetime: e.time.toISOString() }, when(e.time)),
      el('h3', {}, d.step, ' ', mark),
      el('p', { class: 'meta' }, `On ${d.on}`, d.state ? ` · ${d.state}` : ''),
      where ? el('p', { class: 'where' }, `At ${where}`) : null,
      el('p', { class: 'by' }, `Recorded by ${recorder(party)}`),
    )
    if (!e.verified && e.problem) li.append(el('p', { class: 'problem' }, e.problem))
    li.append(record(e, d))
    list.append(li)
  }
  section.append(list)
  return section
}

/** What the shopper holding a recalled item should do, when the brand's notice does not say. */
const RECALL_ACTION = 'Do not use it. Take it back to the shop where you bought it, or contact the brand.'

/**
 * A recall, drawn first: why, when, by whom, which lot, what to do. The reason and advice are the
 * brand's notice when it published one the chain vouches for (`notice`), else what the registry
 * alone records (the brand's reason code and the date).
 */
export function renderRecall(recall: Recall | undefined, notice: Notice | undefined, v: Verification, parties: Map<string, Party>): HTMLElement {
  const facts = el('dl', { class: 'facts recall-facts' })
  const add = (term: string, value: string, key: string) => facts.append(el('div', { 'data-recall': key }, el('dt', {}, term), el('dd', {}, value)))
  const brand = v.brand?.name ?? 'The brand'
  add('Why', notice?.reason ?? (recall ? `The brand gave reason code ${recall.reason} and published no notice with it.` : 'The brand published no reason.'), 'reason')
  if (recall) add('When', when(recall.at, false), 'when')
  const by = notice ? ` — notice recorded by ${recorder(parties.get(`${notice.event.brand}:${notice.event.actor}`))}` : ''
  add('Recalled by', `${brand}${by}`, 'by')
  add('What', recall?.scope === 'item' ? 'This item' : v.lot ? `Every item of lot ${v.lot}` : 'Every item of its lot', 'scope')
  add('What to do', notice?.action ?? RECALL_ACTION, 'action')
  if (notice?.contact) add('Contact', notice.contact, 'contact')
  const section = el(
    'section',
    { class: 'recall', 'aria-labelledby': 'recall-title', 'data-notice': notice ? 'verified' : recall?.document ? 'unchecked' : 'none' },
    el('h2', { id: 'recall-title' }, 'This product is recalled'),
    facts,
  )
  if (recall?.document && !notice) {
    section.append(el('p', { class: 'problem' }, 'The brand named a recall notice, but it is not among the verified records of this item, so its words are not shown.'))
  }
  return section
}

/**
 * For a recalled item with a recorded history: who had it at each step, oldest first, as
 * `o2ochain trace show --responsibility` prints it, in the timeline's words. `parties` maps
 * "brand:actor" to the party. Nothing when no party recorded the item (the recall says so).
 */
export function renderResponsibility(events: TimelineEvent[], parties: Map<string, Party>): HTMLElement | undefined {
  const places = placesByBrand(parties)
  if (events.length === 0) return undefined
  const section = el(
    'section',
    { class: 'responsibility', 'aria-labelledby': 'responsibility-title' },
    el('h2', { id: 'responsibility-title' }, 'Who had it'),
    el('p', {}, 'Each party below recorded its step on chain; the brand can follow up with each.'),
  )
  const table = el(
    'table',
    { class: 'custody' },
    el('thead', {}, el('tr', {}, el('th', { scope: 'col' }, 'When'), el('th', { scope: 'col' }, 'Step'), el('th', { scope: 'col' }, 'Who'))),
  )
  const body = el('tbody', {})
  for (const e of events) {
    const party = parties.get(`${e.brand}:${e.actor}`)
    const kind = party?.kind
    const d = describeEvent(e, kind)
    const where = placeOf(e, places)
    body.append(
      el(
        'tr',
        { 'data-step': d.code, 'data-kind': kind ?? 'unknown' },
        el('td', {}, el('time', { datetime: e.time.toISOString() }, when(e.time, false))),
        el('td', {}, d.step, where ? el('br', {}) : null, where ? el('small', {}, where) : null),
        el('td', {}, recorder(party), e.verified ? '' : ' (not verified)'),
      ),
    )
  }
  table.append(body)
  section.append(table)
  return section
}
