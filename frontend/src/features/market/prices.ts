/**
 * "Prices": what each channel of the retailer offers the product for now (lowest marked), the
 * price guarantee a purchase made now would get (with what the retailer's pool has free to cover
 * it, and any change of terms it announced ahead), and the price history per channel.
 */
import {
  isLive,
  offerUntil,
  UNTIL_ENDED,
  type AnnouncedPolicy,
  type Channel,
  type Currency,
  type GuaranteeReader,
  type Offer,
  type Policy,
  type Pool,
} from '../../chain/guarantee'
import { formatDuration, formatList, formatPercent, t, tCount, tParts } from '../../i18n'
import { el } from '../product/view'
import { renderPriceChart, type ChartSeries } from './chart'
import { excludedTypeText, formatAmount, formatDateTime, isoTime, kindShort, kindText, merchantHref, priceTypeText } from './format'

/** Short chart labels: the channel's kind, with its number when two channels share a kind. */
function chartLabels(channels: Channel[]): Map<number, string> {
  const count = new Map<string, number>()
  for (const c of channels) count.set(c.kind, (count.get(c.kind) ?? 0) + 1)
  return new Map(channels.map((c) => [c.id, (count.get(c.kind) ?? 0) > 1 ? `${kindShort(c.kind)} ${c.id}` : kindShort(c.kind)]))
}

/** The terms of `policy` in a sentence's middle: "within 30 days, by more than 5% of what you paid, … up to 0.5 ETH per purchase." */
function terms(policy: Policy, currency: Currency): string {
  const percent = formatPercent(policy.toleranceBps / 10_000)
  const tolerance =
    policy.toleranceAmount > 0n
      ? t('guarantee.toleranceOrAmount', { percent, amount: formatAmount(policy.toleranceAmount, currency).text })
      : t('guarantee.tolerance', { percent })
  return t('guarantee.terms', { window: formatDuration(policy.window), tolerance, max: formatAmount(policy.maxPayout, currency).text })
}

/** " Clearance and limited-quantity prices do not count." (nothing when no kind of price is excluded). */
function excludedText(policy: Policy): string {
  if (policy.excluded.length === 0) return ''
  const list = formatList(policy.excluded.map(excludedTypeText))
  return t('guarantee.excluded', { list: list.charAt(0).toUpperCase() + list.slice(1) })
}

/**
 * What the pool can cover: a purchase's cover is set aside from the free funds when it is
 * recorded (IPriceGuarantee: min(maxPayout, what it could be owed, free)), so a buyer sees here
 * whether a purchase made now would be covered in full.
 */
function poolNote(policy: Policy, pool: Pool, currency: Currency): HTMLElement {
  const money = (v: bigint) => formatAmount(v, currency).text
  const text = [t('pool.holds', { balance: money(pool.balance), reserved: money(pool.reserved), free: money(pool.free) })]
  if (pool.free === 0n) text.push(t('pool.notCovered'))
  else if (pool.free < policy.maxPayout) text.push(t('pool.partly', { free: money(pool.free), max: money(policy.maxPayout) }))
  if (pool.withdrawalAmount > 0n) {
    text.push(t('pool.withdrawal', { amount: money(pool.withdrawalAmount), time: formatDateTime(pool.withdrawalAt) }))
  }
  return el('p', { class: 'pool', 'data-free': pool.free.toString(), 'data-reserved': pool.reserved.toString(), 'data-balance': pool.balance.toString() }, ...text)
}

/** The guarantee a purchase made now gets, what the pool has free for it, and changes announced ahead. */
function guaranteeNote(policy: Policy | undefined, currency: Currency, pool: Pool | undefined, announced: AnnouncedPolicy[]): HTMLElement {
  const note =
    !policy || policy.window === 0
      ? el('p', { class: 'guarantee guarantee-none', 'data-guarantee': 'none' }, t('guarantee.none'))
      : el(
          'p',
          { class: 'guarantee', 'data-guarantee': String(policy.window) },
          el('strong', {}, t('guarantee.title')),
          t('guarantee.buyNow', { terms: terms(policy, currency) }),
          excludedText(policy),
        )
  const box = el('div', { class: 'guarantee-box' }, note)
  if (policy && policy.window > 0 && pool) box.append(poolNote(policy, pool, currency))
  for (const change of announced) {
    if (change.policy?.id === policy?.id) continue
    const from = el('time', { datetime: isoTime(change.since) }, formatDateTime(change.since))
    const next = change.policy
    box.append(
      el(
        'p',
        { class: 'policy-change', 'data-since': String(change.since) },
        el('strong', {}, t('guarantee.changeTitle')),
        ...(!next || next.window === 0
          ? tParts('guarantee.changeNone', { time: from })
          : [...tParts('guarantee.changeTerms', { time: from, terms: terms(next, currency) }), excludedText(next)]),
        t('guarantee.changeKeeps'),
      ),
    )
  }
  return box
}

function untilText(offer: Offer): Node | string {
  const until = offerUntil(offer)
  if (until >= UNTIL_ENDED) return t('prices.noEnd')
  return el('time', { datetime: isoTime(until) }, t('prices.until', { time: formatDateTime(until) }))
}

/** The live prices of one retailer's channels, cheapest first. */
function liveTable(live: Array<{ channel: Channel; offer: Offer }>, currency: Currency, excluded: Set<string>): HTMLElement {
  const lowest = live.reduce((min, r) => (r.offer.price < min ? r.offer.price : min), live[0].offer.price)
  const body = el('tbody')
  for (const { channel, offer } of live) {
    const amount = formatAmount(offer.price, currency)
    const isLowest = offer.price === lowest
    const priceCell = el('td', { class: 'price' }, el('span', { class: 'amount', title: `${amount.exact} ${currency.symbol}` }, amount.text))
    if (isLowest && live.length > 1) priceCell.append(' ', el('span', { class: 'mark mark-ok lowest' }, t('prices.lowest')))
    priceCell.append(el('br'), el('small', { class: 'terms' }, priceTypeText(offer.priceType), ' · ', untilText(offer)))
    if (excluded.has(offer.priceType)) priceCell.append(el('br'), el('small', { class: 'excluded' }, t('prices.notCompared')))
    body.append(
      el(
        'tr',
        {
          class: isLowest ? 'lowest' : '',
          'data-channel': String(channel.id),
          'data-kind': channel.kind,
          'data-price': amount.exact,
          'data-type': offer.priceType,
          'data-lowest': String(isLowest),
        },
        el('th', { scope: 'row' }, el('a', { href: merchantHref(channel.id) }, channel.name), el('br'), el('small', {}, kindText(channel.kind))),
        priceCell,
      ),
    )
  }
  return el(
    'table',
    { class: 'live-prices' },
    el('caption', {}, t('prices.caption', { symbol: currency.symbol })),
    el('thead', {}, el('tr', {}, el('th', { scope: 'col' }, t('prices.where')), el('th', { scope: 'col' }, t('prices.price')))),
    body,
  )
}

async function retailerBlock(reader: GuaranteeReader, retailer: number, offers: Offer[], gtin: bigint, now: number, heading: boolean): Promise<HTMLElement> {
  const [currency, policy, channelMap, pool, announced] = await Promise.all([
    reader.currency(retailer),
    reader.policyFor(retailer, gtin, now),
    reader.channels([...new Set(offers.map((o) => o.channel))]),
    reader.pool(retailer).catch(() => undefined),
    reader.announcedPolicies(retailer, gtin, now).catch(() => []),
  ])
  const channels = [...channelMap.values()].sort((a, b) => a.id - b.id)
  const labels = chartLabels(channels)
  const live: Array<{ channel: Channel; offer: Offer }> = []
  const series: ChartSeries[] = []
  for (const channel of channels) {
    const mine = offers.filter((o) => o.channel === channel.id)
    const current = mine.filter((o) => isLive(o, now))
    // The channel's latest published live price is the one it offers (src/o2ochain/guarantee/_reader.py live_price).
    if (current.length > 0) live.push({ channel, offer: current[current.length - 1] })
    series.push({ channel, label: labels.get(channel.id) ?? channel.name, offers: mine })
  }
  live.sort((a, b) => (a.offer.price < b.offer.price ? -1 : a.offer.price > b.offer.price ? 1 : a.channel.id - b.channel.id))
  const block = el('div', { class: 'retailer-prices', 'data-retailer': String(retailer) })
  if (heading) block.append(el('h3', {}, t('prices.retailer', { id: retailer })))
  if (live.length === 0) block.append(el('p', { class: 'empty' }, t('prices.noneNow')))
  else block.append(liveTable(live, currency, new Set(policy?.excluded ?? [])))
  block.append(guaranteeNote(policy, currency, pool, announced))
  block.append(el('h3', { class: 'chart-title' }, t('prices.history')), renderPriceChart(series, currency, now, `prices-r${retailer}`))
  return block
}

export async function pricesSection(reader: GuaranteeReader, gtin: bigint): Promise<HTMLElement> {
  const section = el('section', { class: 'market prices', 'aria-labelledby': 'prices-title' }, el('h2', { id: 'prices-title' }, t('prices.title')))
  try {
    const [offers, now] = await Promise.all([reader.publishedPrices(gtin), reader.now()])
    const unconfirmed =
      offers.unconfirmed > 0
        ? el(
            'p',
            { class: 'unconfirmed-prices hash-warning', role: 'note', 'data-unconfirmed': String(offers.unconfirmed) },
            tCount(offers.unconfirmed, 'prices.unconfirmed.one', 'prices.unconfirmed.many'),
          )
        : undefined
    if (offers.length === 0) {
      section.append(el('p', { class: 'empty' }, t('prices.empty')))
      if (unconfirmed) section.append(unconfirmed)
      return section
    }
    section.append(el('p', { class: 'summary' }, t('prices.summary')))
    if (unconfirmed) section.append(unconfirmed)
    const retailers = [...new Set(offers.map((o) => o.retailer))].sort((a, b) => a - b)
    const blocks = await Promise.all(
      retailers.map((r) => retailerBlock(reader, r, offers.filter((o) => o.retailer === r), gtin, now, retailers.length > 1)),
    )
    section.append(...blocks)
  } catch (error) {
    section.append(el('p', { class: 'problem', role: 'alert' }, t('prices.cannotRead', { reason: (error as Error).message.split('\n')[0] })))
  }
  return section
}
