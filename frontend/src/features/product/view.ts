/** The product page: the verdict first, then what the product is, then where it has been. */
import type { Verification, Verdict } from '../../chain/registry'
import type { Notice, Recall } from '../../chain/recall'
import { glnOfLocation } from '../../chain/gs1'
import type { Party, TimelineEvent } from '../../chain/trace'
import { formatTime, t, type MessageKey } from '../../i18n'
import { describeEvent, kindWords, type Described } from './words'

/** Each verdict's catalogue keys (title; detail is `<title>.detail`) and tone. */
const VERDICTS: Record<Verdict, { key: MessageKey; tone: string }> = {
  authentic: { key: 'verdict.authentic', tone: 'good' },
  'not registered': { key: 'verdict.notRegistered', tone: 'bad' },
  recalled: { key: 'verdict.recalled', tone: 'bad' },
  claimed: { key: 'verdict.claimed', tone: 'warn' },
  decommissioned: { key: 'verdict.decommissioned', tone: 'bad' },
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

/** The claimed verdict when the first buyer is the connected account. */
const YOURS: { key: MessageKey; tone: string } = { key: 'verdict.yours', tone: 'good' }

/** The verdict; `me` is the connected person's address for this item (wallet/shopper.ts `itemAccount`). */
export function renderVerdict(v: Verification, productName?: string, me?: string): HTMLElement {
  const mine = v.verdict === 'claimed' && me !== undefined && v.view.claimedBy.toLowerCase() === me.toLowerCase()
  const info = mine ? YOURS : VERDICTS[v.verdict]
  const verdict = el(
    'section',
    { class: `verdict verdict-${info.tone}`, 'data-verdict': v.verdict, 'data-mine': String(mine), 'aria-labelledby': 'verdict-title' },
    el('h2', { id: 'verdict-title' }, t(info.key)),
    el('p', {}, t(`${info.key}.detail` as MessageKey)),
  )
  if (v.merkle) verdict.append(el('p', { class: 'merkle' }, t('verdict.merkle')))
  const article = el('article', { class: 'product', 'data-item': v.item }, verdict)
  if (v.view.registered) {
    const facts = el('dl', { class: 'facts' })
    const add = (term: string, value: string | undefined, key: string) => {
      if (value) facts.append(el('div', { 'data-fact': key }, el('dt', {}, term), el('dd', {}, value)))
    }
    add(t('facts.product'), productName, 'product')
    add(t('facts.brand'), v.brand?.name, 'brand')
    add(t('facts.gtin'), v.gtin, 'gtin')
    add(t('facts.lot'), v.lot, 'lot')
    add(t('facts.expiry'), v.expiry, 'expiry')
    add(t('facts.block'), v.view.registeredAt.toString(), 'block')
    article.append(el('section', { class: 'about', 'aria-label': t('facts.about') }, facts))
  }
  // The item's id (a hash) is for those who check by hand: one tap away, not in the words shown.
  article.append(
    el('details', { class: 'item-id' }, el('summary', {}, t('facts.technical')), el('p', {}, `${t('facts.itemId')} `, el('code', { title: v.item }, v.item))),
  )
  return article
}

/** Adds the product's name to the facts of a verdict already shown (it arrives after the verdict). */
export function showProductName(article: HTMLElement, name: string): void {
  const facts = article.querySelector('.about .facts')
  if (!facts || facts.querySelector('[data-fact="product"]')) return
  facts.prepend(el('div', { 'data-fact': 'product' }, el('dt', {}, t('facts.product')), el('dd', {}, name)))
}

/** Adds the brand's name to the facts of a verdict already shown (read after the verdict, with the history's first lists). */
export function showBrandName(article: HTMLElement, name: string): void {
  const facts = article.querySelector('.about .facts')
  if (!name || !facts || facts.querySelector('[data-fact="brand"]')) return
  const fact = el('div', { 'data-fact': 'brand' }, el('dt', {}, t('facts.brand')), el('dd', {}, name))
  const product = facts.querySelector('[data-fact="product"]')
  if (product) product.after(fact)
  else facts.prepend(fact)
}

/** A time as the page's language writes dates and times ("3 Dec 2026, 14:05", "2026年12月3日 14:05"). */
const when = formatTime

/** What a kind of party is, after its name: "Hillside Strawberry Farm (farm)". */
/** Who recorded an event, in words: its name as the brand published it and its kind, else its kind alone ("the carrier"). */
function recorder(party: Party | undefined): string {
  const kind = party?.kind
  if (party?.name) return kind ? t('party.withKind', { name: party.name, kind: kindWords(kind, true) }) : party.name
  return kind ? kindWords(kind) : t('party.unknown')
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
    if (place) return place.city && !place.name.includes(place.city) ? t('place.withCity', { name: place.name, city: place.city }) : place.name
  }
  return undefined
}

/** The location ids of an event, for the record behind it. */
function locationRows(e: TimelineEvent): HTMLElement[] {
  const rows: HTMLElement[] = []
  for (const [key, label] of [['bizLocation', t('record.bizLocation')], ['readPoint', t('record.readPoint')]] as const) {
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
    el('dt', {}, t('record.recordedBy')),
    el('dd', {}, el('code', {}, e.actor)),
    el('dt', {}, t('record.block')),
    el('dd', {}, String(e.block)),
    ...locationRows(e),
    el('dt', {}, t('record.epcis')),
    el('dd', {}, t('record.epcisValue', { type: `${e.eventType}${e.action ? ' ' + e.action : ''}`, step: d.code })),
  )
  const body = el('div', { class: 'record-body' }, rows)
  if (e.event) body.append(el('pre', { class: 'record-json' }, JSON.stringify(e.event, null, 2)))
  return el('details', { class: 'record' }, el('summary', {}, t('timeline.showRecord')), body)
}

/**
 * The history, oldest first, each event marked verified or not (and why). `missing` is how many
 * records the ledger holds on the item's own chains that the page's lists did not give. `parties`
 * maps "brand:actor" to the recording party (its kind on chain, its name as its brand published it).
 */
export function renderTimeline(events: TimelineEvent[], missing = 0, parties: Map<string, Party> = new Map()): HTMLElement {
  const places = placesByBrand(parties)
  const section = el('section', { class: 'timeline', 'aria-labelledby': 'timeline-title' }, el('h2', { id: 'timeline-title' }, t('timeline.title')))
  if (missing > 0) {
    section.append(
      el(
        'p',
        { class: 'problem incomplete', role: 'alert', 'data-missing': String(missing) },
        t(missing === 1 ? 'timeline.incomplete.one' : 'timeline.incomplete.many', { count: missing }),
      ),
    )
  }
  if (events.length === 0) {
    section.append(el('p', { class: 'empty' }, t('timeline.empty')))
    return section
  }
  const verified = events.filter((e) => e.verified).length
  section.append(el('p', { class: 'summary' }, t('timeline.summary', { events: events.length, verified })))
  const list = el('ol', { class: 'events' })
  for (const e of events) {
    const party = parties.get(`${e.brand}:${e.actor}`)
    const d = describeEvent(e, party?.kind)
    const where = placeOf(e, places)
    const mark = e.verified
      ? el('span', { class: 'mark mark-ok', title: t('timeline.verified.title') }, t('timeline.verified'))
      : el('span', { class: 'mark mark-bad', title: e.problem ?? '' }, t('timeline.notVerified'))
    const li = el(
      'li',
      { class: d.recall ? 'event event-recall' : 'event', 'data-step': d.code, 'data-verified': String(e.verified) },
      el('time', { datetime: e.time.toISOString() }, when(e.time)),
      el('h3', {}, d.step, ' ', mark),
      el('p', { class: 'meta' }, t('timeline.on', { what: d.on }), d.state ? ` · ${d.state}` : ''),
      where ? el('p', { class: 'where' }, t('timeline.at', { place: where })) : null,
      el('p', { class: 'by' }, t('timeline.recordedBy', { who: recorder(party) })),
    )
    if (!e.verified && e.problem) li.append(el('p', { class: 'problem' }, e.problem))
    li.append(record(e, d))
    list.append(li)
  }
  section.append(list)
  return section
}


/**
 * A recall, drawn first: why, when, by whom, which lot, what to do. The reason and advice are the
 * brand's notice when it published one the chain vouches for (`notice`), else what the registry
 * alone records (the brand's reason code and the date).
 */
export function renderRecall(recall: Recall | undefined, notice: Notice | undefined, v: Verification, parties: Map<string, Party>): HTMLElement {
  const facts = el('dl', { class: 'facts recall-facts' })
  const add = (term: string, value: string, key: string) => facts.append(el('div', { 'data-recall': key }, el('dt', {}, term), el('dd', {}, value)))
  const brand = v.brand?.name ?? t('recall.theBrand')
  add(t('recall.why'), notice?.reason ?? (recall ? t('recall.reasonCode', { code: recall.reason }) : t('recall.noReason')), 'reason')
  if (recall) add(t('recall.when'), when(recall.at, false), 'when')
  const noticeBy = notice ? recorder(parties.get(`${notice.event.brand}:${notice.event.actor}`)) : undefined
  add(t('recall.by'), noticeBy ? t('recall.noticeBy', { brand, who: noticeBy }) : brand, 'by')
  add(t('recall.what'), recall?.scope === 'item' ? t('recall.thisItem') : v.lot ? t('recall.lot', { lot: v.lot }) : t('recall.itsLot'), 'scope')
  // What the shopper should do, when the brand's notice does not say: the same everywhere.
  add(t('recall.todo'), notice?.action ?? t('recall.action'), 'action')
  if (notice?.contact) add(t('recall.contact'), notice.contact, 'contact')
  const section = el(
    'section',
    { class: 'recall', 'aria-labelledby': 'recall-title', 'data-notice': notice ? 'verified' : recall?.document ? 'unchecked' : 'none' },
    el('h2', { id: 'recall-title' }, t('recall.title')),
    facts,
  )
  if (recall?.document && !notice) {
    section.append(el('p', { class: 'problem' }, t('recall.unchecked')))
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
    el('h2', { id: 'responsibility-title' }, t('custody.title')),
    el('p', {}, t('custody.intro')),
  )
  const table = el(
    'table',
    { class: 'custody' },
    el('thead', {}, el('tr', {}, el('th', { scope: 'col' }, t('custody.when')), el('th', { scope: 'col' }, t('custody.step')), el('th', { scope: 'col' }, t('custody.who')))),
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
        el('td', {}, recorder(party), e.verified ? '' : t('custody.notVerified')),
      ),
    )
  }
  table.append(body)
  section.append(table)
  return section
}
