/**
 * A merchant's page (`?merchant=<channel id>`): its profile (the on-chain record and the profile
 * document checked against its hash), its retailer's channels, and its reviews ranked with their
 * average rating.
 */
import type { Channel, GuaranteeReader } from '../../chain/guarantee'
import type { JsonObject, MerchantProfile, Review, ReviewBoardReader } from '../../chain/reviews'
import { t, type MessageKey } from '../../i18n'
import { el } from '../product/view'
import { formatDate, isoTime, kindText, merchantHref } from './format'
import { renderReviews, type ReviewActions } from './reviews'

/** The profile document's fields the page has words for; any other is shown under its own name. */
const KNOWN_FIELDS: Record<string, MessageKey> = {
  address: 'merchant.field.address',
  hours: 'merchant.field.hours',
  phone: 'merchant.field.phone',
  email: 'merchant.field.email',
  website: 'merchant.field.website',
}

export class MerchantNotFound extends Error {}

/** The channel id of a `?merchant=` value, or a message saying what is wrong with it. */
export function parseMerchant(value: string): number {
  const text = value.trim()
  if (!/^\d{1,10}$/.test(text) || Number(text) < 1 || Number(text) > 0xffffffff) {
    throw new MerchantNotFound(t('merchant.notANumber', { text }))
  }
  return Number(text)
}

function linkOrText(value: string): Node | string {
  if (/^https?:\/\/\S+$/i.test(value)) return el('a', { href: value, rel: 'noopener noreferrer nofollow ugc' }, value.replace(/^https?:\/\//i, ''))
  return value
}

function profileFacts(profile: MerchantProfile, document: JsonObject | undefined): HTMLElement {
  const facts = el('dl', { class: 'facts' })
  const add = (key: string, term: string, value: Node | string) => facts.append(el('div', { 'data-fact': key }, el('dt', {}, term), el('dd', {}, value)))
  if (document) {
    for (const [key, value] of Object.entries(document)) {
      if (key === 'type' || key === 'name' || typeof value !== 'string' || !value.trim()) continue
      add(key, key in KNOWN_FIELDS ? t(KNOWN_FIELDS[key]) : key.charAt(0).toUpperCase() + key.slice(1), linkOrText(value))
    }
  }
  if (profile.gln) add('gln', t('merchant.gln'), el('code', {}, profile.gln))
  if (profile.latitude !== 0 || profile.longitude !== 0) {
    const lat = profile.latitude.toFixed(4)
    const lon = profile.longitude.toFixed(4)
    add(
      'location',
      t('merchant.location'),
      el(
        'a',
        { href: `https://www.openstreetmap.org/?mlat=${lat}&mlon=${lon}#map=17/${lat}/${lon}`, rel: 'noopener noreferrer' },
        t('merchant.map', { lat, lon }),
      ),
    )
  }
  if (profile.updatedAt) add('updated', t('merchant.updated'), el('time', { datetime: isoTime(profile.updatedAt) }, formatDate(profile.updatedAt)))
  return facts
}

function profileCheck(profile: MerchantProfile): HTMLElement | undefined {
  const content = profile.content
  if (!content) return undefined
  if (content.status === 'intact') {
    return el('p', { class: 'profile-check', 'data-hash': 'ok' }, el('span', { class: 'mark mark-ok' }, t('merchant.profileOk')), t('merchant.profileOkDetail'))
  }
  const why = content.status === 'mismatch' ? t('merchant.profileMismatch') : t('merchant.profileMissing', { detail: content.detail })
  return el('p', { class: 'hash-warning', role: 'note', 'data-hash': content.status }, why)
}

function channelList(channels: Channel[], current: number): HTMLElement {
  const list = el('ul', { class: 'channel-list' })
  for (const c of channels) {
    const link = el('a', { href: merchantHref(c.id) }, c.name)
    if (c.id === current) link.setAttribute('aria-current', 'page')
    list.append(el('li', { 'data-channel': String(c.id) }, link, ' ', el('small', {}, c.id === current ? t('merchant.thisPage', { kind: kindText(c.kind) }) : kindText(c.kind))))
  }
  return el(
    'section',
    { class: 'market channels', 'aria-labelledby': 'channels-title' },
    el('h2', { id: 'channels-title' }, t('merchant.channelsTitle')),
    el('p', { class: 'summary' }, t('merchant.channelsSummary')),
    list,
  )
}

/** The merchant page's article. Throws MerchantNotFound for a channel this chain does not have. */
export async function merchantPage(
  guarantee: GuaranteeReader,
  board: ReviewBoardReader,
  id: number,
  actionsFor: (reviews: Review[]) => Promise<ReviewActions | undefined> = async () => undefined,
): Promise<HTMLElement> {
  const channel = await guarantee.channel(id)
  if (!channel) throw new MerchantNotFound(t('merchant.notFound', { id }))
  const [profile, channels, now] = await Promise.all([board.merchantProfile(id), guarantee.channelsOf(channel.retailer), guarantee.now()])
  const reviews = await board.reviews({ merchant: id }, now)
  const [names, actions] = await Promise.all([
    guarantee.channels([...new Set([...reviews.map((r) => r.merchant), ...reviews.flatMap((r) => r.replies.map((p) => p.merchant))])]),
    actionsFor(reviews),
  ])
  const document = profile.content?.status === 'intact' ? profile.content.document : undefined
  const name = typeof document?.name === 'string' && document.name.trim() ? document.name : channel.name
  setTitle(name)

  const head = el(
    'section',
    { class: 'market merchant-profile', 'aria-labelledby': 'merchant-title', 'data-channel': String(id) },
    el('h2', { id: 'merchant-title' }, name),
    el('p', { class: 'kind' }, t('merchant.kindOf', { kind: kindText(channel.kind), retailer: channel.retailer })),
  )
  if (profile.updatedAt === 0) head.append(el('p', { class: 'empty' }, t('merchant.noProfile')))
  else {
    head.append(profileFacts(profile, document))
    const check = profileCheck(profile)
    if (check) head.append(check)
  }
  const reviewSection = renderReviews(reviews, names, board.content, {
    id: 'merchant-reviews-title',
    title: t('merchant.reviewsTitle'),
    empty: t('merchant.reviewsEmpty'),
    showMerchant: false,
  }, actions)
  return el('article', { class: 'merchant', 'data-merchant': String(id) }, head, reviewSection, channelList(channels, id))
}

function setTitle(name: string): void {
  document.title = `${name} — o2ochain`
}
