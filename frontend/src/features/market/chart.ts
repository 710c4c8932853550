/**
 * The price history of one retailer's channels as an inline SVG: a step line per channel (the
 * price it offered at each moment, from PricePublished / PriceEnded), labelled at its end, with a
 * text alternative and the same data as a table. Drawn here, no chart library.
 */
import { isLive, offerUntil, type Channel, type Currency, type Offer } from '../../chain/guarantee'
import { locale, t, tCount, tParts, utcParts } from '../../i18n'
import { el } from '../product/view'
import { formatAmount, formatDateTime, isoTime, priceTypeText } from './format'

const SVG = 'http://www.w3.org/2000/svg'
const W = 340
const H = 210
const M = { left: 46, right: 8, top: 12, bottom: 24 }
/** Line and text colours, each readable on white (contrast 4.5:1 or more). */
const COLOURS = ['#0b57d0', '#b35900', '#1a7f37', '#8250df', '#b42318', '#00677f']
const LABEL_GAP = 13

export interface ChartSeries {
  channel: Channel
  /** Short label drawn on the chart ("Store", "Online shop"). */
  label: string
  /** The channel's published prices, oldest first. */
  offers: Offer[]
}

/** A stretch of time with one price (or none) on a channel. */
interface Step {
  from: number
  to: number
  offer?: Offer
}

function svg<K extends keyof SVGElementTagNameMap>(tag: K, attrs: Record<string, string | number> = {}, text?: string): SVGElementTagNameMap[K] {
  const node = document.createElementNS(SVG, tag)
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v))
  if (text !== undefined) node.textContent = text
  return node
}

/**
 * What the channel offered between `start` and `end`: at each moment the latest published of its
 * live prices (as src/o2ochain/guarantee/_reader.py `live_price` picks it), merged where the price does not change.
 */
export function stepsOf(offers: Offer[], start: number, end: number): Step[] {
  const times = new Set<number>([start, end])
  for (const o of offers) {
    for (const t of [o.validFrom, offerUntil(o)]) if (t > start && t < end) times.add(t)
  }
  const sorted = [...times].sort((a, b) => a - b)
  const steps: Step[] = []
  for (let i = 0; i + 1 < sorted.length; i++) {
    const at = sorted[i]
    const live = offers.filter((o) => isLive(o, at))
    const offer = live.length > 0 ? live[live.length - 1] : undefined
    const last = steps[steps.length - 1]
    if (last && last.offer?.price === offer?.price && last.offer?.priceType === offer?.priceType) last.to = sorted[i + 1]
    else steps.push({ from: at, to: sorted[i + 1], offer })
  }
  return steps
}

/** About three round tick values covering [lo, hi]. */
function ticks(lo: number, hi: number): { values: number[]; decimals: number } {
  const raw = (hi - lo) / 3
  const power = 10 ** Math.floor(Math.log10(raw))
  const step = [1, 2, 5, 10].map((m) => m * power).find((s) => s >= raw) ?? raw
  const values: number[] = []
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) values.push(Number(v.toFixed(12)))
  return { values, decimals: Math.max(0, -Math.floor(Math.log10(step))) }
}

/** An axis label (UTC): the time of day for a short span, else the day ("Dec 1" / "12月1日"). */
function timeLabel(seconds: number, span: number): string {
  if (span < 2 * 86_400) return utcParts(seconds, span < 600).time
  return new Intl.DateTimeFormat(locale(), { month: 'short', day: 'numeric', timeZone: 'UTC' }).format(seconds * 1000)
}

/**
 * Label positions at least LABEL_GAP apart: each label sits just above its line, and labels that
 * would collide stack upwards (the y scale leaves room for them above the highest line).
 */
function spread(wanted: number[], top: number): number[] {
  const order = wanted.map((y, i) => [y, i] as const).sort((a, b) => b[0] - a[0])
  const placed = order.map(([y]) => y)
  for (let i = 1; i < placed.length; i++) placed[i] = Math.min(placed[i], placed[i - 1] - LABEL_GAP)
  const short = placed.length > 0 ? top - placed[placed.length - 1] : 0
  if (short > 0) for (let i = 0; i < placed.length; i++) placed[i] += short
  const out = new Array<number>(wanted.length)
  order.forEach(([, index], k) => (out[index] = placed[k]))
  return out
}

export function renderPriceChart(series: ChartSeries[], currency: Currency, now: number, idPrefix: string): HTMLElement {
  const all = series.flatMap((s) => s.offers)
  const start = Math.min(...all.map((o) => o.validFrom))
  const end = Math.max(now, start + 1)
  const span = end - start
  const values = all.map((o) => formatAmount(o.price, currency).value)
  let lo = Math.min(...values)
  let hi = Math.max(...values)
  const range = hi - lo || Math.abs(hi) * 0.2 || 1
  // Room above the highest line for the labels, a little below the lowest.
  hi += range * (0.15 + 0.14 * series.length)
  lo = Math.max(0, lo - range * 0.15)
  const plotW = W - M.left - M.right
  const plotH = H - M.top - M.bottom
  const x = (at: number) => M.left + ((at - start) / span) * plotW
  const y = (v: number) => M.top + (1 - (v - lo) / (hi - lo)) * plotH
  const fmt = (n: number) => n.toFixed(1)

  const titleId = `${idPrefix}-chart-title`
  const descId = `${idPrefix}-chart-desc`
  const root = svg('svg', { viewBox: `0 0 ${W} ${H}`, class: 'price-chart', role: 'img', 'aria-labelledby': `${titleId} ${descId}` })
  root.append(svg('title', { id: titleId }, tCount(series.length, 'chart.title.one', 'chart.title.many', { symbol: currency.symbol })))

  const axes = svg('g', { class: 'axes', 'aria-hidden': 'true' })
  const yTicks = ticks(lo, hi)
  for (const v of yTicks.values) {
    axes.append(svg('line', { x1: M.left, x2: W - M.right, y1: fmt(y(v)), y2: fmt(y(v)), class: 'grid' }))
    axes.append(svg('text', { x: M.left - 4, y: fmt(y(v) + 3.5), 'text-anchor': 'end' }, v.toFixed(yTicks.decimals)))
  }
  axes.append(svg('line', { x1: M.left, x2: W - M.right, y1: H - M.bottom, y2: H - M.bottom, class: 'axis' }))
  axes.append(svg('text', { x: M.left, y: H - 8, 'text-anchor': 'start' }, timeLabel(start, span)))
  axes.append(svg('text', { x: W - M.right, y: H - 8, 'text-anchor': 'end' }, span < 2 * 86_400 ? t('time.utc', { time: timeLabel(end, span) }) : timeLabel(end, span)))
  root.append(axes)

  const described: string[] = []
  const labels: Array<{ text: string; y: number; colour: string }> = []
  series.forEach((s, index) => {
    const colour = COLOURS[index % COLOURS.length]
    // Lines drawn first are wider, so channels at the same price show as stacked bands.
    const width = 2 + 2.5 * (series.length - 1 - index)
    const steps = stepsOf(s.offers, start, end)
    let d = ''
    let previous: Step | undefined
    const group = svg('g', { class: 'series', 'data-channel': s.channel.id, 'data-label': s.label })
    const levels: string[] = []
    const spoken: string[] = []
    for (const step of steps) {
      if (!step.offer) {
        if (previous?.offer && step.to < end) spoken.push(t('chart.noPriceFrom', { time: formatDateTime(step.from, span < 600) }))
        previous = step
        continue
      }
      const amount = formatAmount(step.offer.price, currency)
      const yy = fmt(y(amount.value))
      d += previous?.offer && previous.to === step.from ? ` V${yy} H${fmt(x(step.to))}` : ` M${fmt(x(step.from))} ${yy} H${fmt(x(step.to))}`
      group.append(svg('circle', { cx: fmt(x(step.from)), cy: yy, r: 2.5, fill: colour, class: 'point', 'data-price': amount.exact, 'data-from': step.from }))
      levels.push(amount.exact)
      spoken.push(t('chart.priceFrom', { amount: amount.text, time: formatDateTime(step.from, span < 600) }))
      previous = step
    }
    group.prepend(svg('path', { d: d.trim(), stroke: colour, 'stroke-width': width, fill: 'none', 'stroke-linejoin': 'round', class: 'line' }))
    group.setAttribute('data-levels', levels.join(' '))
    root.append(group)
    const last = steps.filter((st) => st.offer).pop()
    const stillOffered = last !== undefined && last.to === end && s.offers.some((o) => isLive(o, now))
    const said = spoken.join(t('text.listSep')) || t('chart.noPrice')
    described.push(t(stillOffered ? 'chart.seriesOffered' : 'chart.seriesEnded', { channel: s.channel.name, label: s.label, steps: said }))
    if (last?.offer) {
      labels.push({ text: `${s.label} ${formatAmount(last.offer.price, currency).exact}`, y: y(formatAmount(last.offer.price, currency).value) - 6, colour })
    }
  })
  const placed = spread(
    labels.map((l) => l.y),
    M.top + 9,
  )
  const labelGroup = svg('g', { class: 'labels', 'aria-hidden': 'true' })
  labels.forEach((l, i) => labelGroup.append(svg('text', { x: W - M.right - 2, y: fmt(placed[i]), 'text-anchor': 'end', fill: l.colour }, l.text)))
  root.append(labelGroup)
  root.insertBefore(svg('desc', { id: descId }, described.join(' ')), root.children[1] ?? null)

  const legend = el('ul', { class: 'chart-legend' })
  series.forEach((s, index) => {
    const swatch = el('span', { class: 'swatch', 'aria-hidden': 'true' })
    swatch.style.setProperty('--swatch', COLOURS[index % COLOURS.length])
    legend.append(el('li', {}, swatch, t('chart.legend', { label: s.label, name: s.channel.name })))
  })

  return el(
    'figure',
    { class: 'price-history' },
    root,
    el('figcaption', {}, t('chart.caption', { symbol: currency.symbol })),
    legend,
    historyTable(series, currency, now, span),
  )
}

/** Every published price, as a table: the chart's data for anyone who does not see it. */
function historyTable(series: ChartSeries[], currency: Currency, now: number, span: number): HTMLElement {
  const rows = series
    .flatMap((s) => s.offers.map((o) => ({ s, o })))
    .sort((a, b) => a.o.validFrom - b.o.validFrom || (a.o.block < b.o.block ? -1 : a.o.block > b.o.block ? 1 : a.s.channel.id - b.s.channel.id))
  const body = el('tbody')
  const seconds = span < 600
  const when = (at: number) => {
    const { date, time } = utcParts(at, seconds)
    return el('time', { datetime: isoTime(at) }, el('span', { class: 'date' }, date), ' ', el('span', { class: 'clock' }, time))
  }
  for (const { s, o } of rows) {
    const live = isLive(o, now)
    const amount = formatAmount(o.price, currency)
    const until = live ? t('chart.stillOffered') : el('span', {}, ...tParts(o.endedAt && o.endedAt <= o.validUntil ? 'chart.ended' : 'chart.expired', { time: when(offerUntil(o)) }))
    body.append(
      el(
        'tr',
        { 'data-channel': String(s.channel.id), 'data-price': amount.exact, 'data-live': String(live) },
        el('th', { scope: 'row' }, s.label),
        el('td', {}, el('span', { class: 'amount' }, amount.text), el('br'), el('small', {}, priceTypeText(o.priceType))),
        el('td', {}, when(o.validFrom), el('br'), el('small', {}, until)),
      ),
    )
  }
  const table = el(
    'table',
    { class: 'history-table' },
    el('caption', {}, t('chart.tableCaption')),
    el('thead', {}, el('tr', {}, el('th', { scope: 'col' }, t('chart.channel')), el('th', { scope: 'col' }, t('prices.price')), el('th', { scope: 'col' }, t('chart.offeredFrom')))),
    body,
  )
  return el('details', { class: 'history-data' }, el('summary', {}, t('chart.tableSummary')), table)
}
