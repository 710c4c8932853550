/**
 * Reviews as readers see them: ranked as src/o2ochain/loop/_reviews.py ranks them (see
 * chain/reviews.ts `usefulness`), each with its rating, the text checked against the hash on
 * chain, the verified-buyer mark, votes, the merchant's replies and its versions; folded reviews
 * collapsed with the reason. Only reviews that count (ReviewBoard.counts) are shown; how many
 * others there are, and why they do not count, is said in words.
 */
import type { Channel } from '../../chain/guarantee'
import { averageRating, FOLD_MARGIN, FOLD_REPORTS, UNCONFIRMED, type ContentCheck, type ContentStore, type Review } from '../../chain/reviews'
import { formatDecimal, t, tCount, tParts, type MessageKey } from '../../i18n'
import { el } from '../product/view'
import { formatDate, isoTime, merchantHref, shortAddress } from './format'

/** What a content check is about: the review's text, a merchant's reply, an earlier version's text. */
type Content = 'content.text' | 'content.reply' | 'content.earlierText'

export function stars(rating: number): HTMLElement {
  const full = Math.max(0, Math.min(5, Math.round(rating)))
  return el(
    'span',
    { class: 'rating', 'data-rating': String(rating) },
    el('span', { class: 'stars', 'aria-hidden': 'true' }, '★'.repeat(full) + '☆'.repeat(5 - full)),
    el('span', { class: 'rating-text' }, t('reviews.outOf5', { rating: formatDecimal(String(rating)) })),
  )
}

/** The mark of a text checked against its hash on chain, or a warning that says what is wrong. */
function contentMark(content: ContentCheck, about: Content): HTMLElement {
  const what = t(about)
  if (content.status === 'intact') {
    return el('span', { class: 'mark mark-ok hash-ok', 'data-hash': 'ok', title: t('content.okTitle', { what }) }, t('content.ok', { what }))
  }
  if (content.status === 'mismatch') return el('p', { class: 'hash-warning', role: 'note', 'data-hash': 'mismatch' }, t('content.mismatch', { what }))
  if (content.status === 'unconfirmed') {
    return el('p', { class: 'hash-warning', role: 'note', 'data-hash': 'unconfirmed' }, t('content.unconfirmed', { what, detail: content.detail }))
  }
  return el('p', { class: 'hash-warning', role: 'note', 'data-hash': 'missing' }, t('content.missing', { what, detail: content.detail }))
}

function foldReason(review: Review): string {
  const reasons: string[] = []
  if (review.reports >= FOLD_REPORTS) reasons.push(t('review.foldReported', { count: review.reports }))
  if (review.notHelpful >= review.helpful + FOLD_MARGIN) reasons.push(t('review.foldUnhelpful', { notHelpful: review.notHelpful, helpful: review.helpful }))
  return reasons.join(t('text.reasonSep')) || t('review.foldByReaders')
}

function merchantLink(channels: Map<number, Channel>, id: number): HTMLElement | string {
  const channel = channels.get(id)
  return el('a', { href: merchantHref(id) }, channel?.name ?? t('review.merchantN', { id }))
}

/** Earlier versions, their texts fetched (and checked) when the reader opens them. */
function versionsBlock(review: Review, store: ContentStore): HTMLElement {
  const earlier = review.versions.slice(0, -1).reverse()
  const list = el('ol', { class: 'versions', reversed: '' })
  const details = el(
    'details',
    { class: 'edited' },
    el('summary', {}, t('review.edited', { version: review.version })),
    list,
  )
  let loaded = false
  details.addEventListener('toggle', () => {
    if (!details.open || loaded) return
    loaded = true
    for (const v of earlier) {
      const item = el('li', { value: String(v.version) }, stars(v.rating), ' ', el('span', { class: 'loading' }, t('review.reading')))
      list.append(item)
      void (v.confirmed ? store.get(v.contentHash) : Promise.resolve(UNCONFIRMED)).then((content) => {
        const text = content.status === 'intact' && typeof content.document.text === 'string' ? content.document.text : undefined
        item.lastChild?.replaceWith(text !== undefined ? el('q', {}, text) : contentMark(content, 'content.earlierText'))
      })
    }
  })
  return details
}

function reviewArticle(review: Review, channels: Map<number, Channel>, store: ContentStore, showMerchant: boolean): HTMLElement {
  const title: MessageKey = !review.merchant ? 'review.verifiedClaim' : review.subject === 'product' ? 'review.verifiedProductPurchase' : 'review.verifiedPurchase'
  const verified = el('span', { class: 'mark mark-ok verified', title: t(title) }, t('review.verified'))
  const article = el(
    'article',
    { class: 'review', 'data-review': review.id, 'data-content': review.content.status, 'data-usefulness': review.score.toFixed(6) },
    el('h3', { class: 'review-head' }, stars(review.rating), ' ', verified),
  )
  if (review.text !== undefined) {
    const text = el('p', { class: 'review-text' }, review.text)
    article.append(text, el('p', { class: 'review-check' }, contentMark(review.content, 'content.text')))
  } else {
    article.append(contentMark(review.content, 'content.text'))
  }
  const posted = el('time', { datetime: isoTime(review.postedAt) }, formatDate(review.postedAt))
  const meta = el('p', { class: 'review-meta' }, ...tParts('review.posted', { date: posted, author: el('code', { title: review.author }, shortAddress(review.author)) }))
  if (review.photos > 0) meta.append(' · ', tCount(review.photos, 'review.photos.one', 'review.photos.many'))
  if (showMerchant && review.merchant) meta.append(' · ', ...tParts('review.boughtAt', { shop: merchantLink(channels, review.merchant) }))
  article.append(meta)
  article.append(
    el(
      'p',
      { class: 'votes', 'data-helpful': String(review.helpful), 'data-not-helpful': String(review.notHelpful) },
      t('review.votes', { helpful: review.helpful, notHelpful: review.notHelpful }),
      review.reports > 0 ? ` · ${tCount(review.reports, 'review.reported.one', 'review.reported.many')}` : '',
    ),
  )
  for (const reply of review.replies) {
    const box = el(
      'div',
      { class: 'reply', 'data-reply': reply.content.status },
      reply.content.status === 'unconfirmed'
        ? el('p', { class: 'reply-by' }, ...tParts('review.replyUnconfirmed', { shop: merchantLink(channels, reply.merchant) }))
        : el('p', { class: 'reply-by' }, ...tParts('review.replyFrom', { shop: merchantLink(channels, reply.merchant) })),
    )
    if (reply.text !== undefined) box.append(el('p', { class: 'reply-text' }, reply.text), el('p', { class: 'review-check' }, contentMark(reply.content, 'content.reply')))
    else box.append(contentMark(reply.content, 'content.reply'))
    article.append(box)
  }
  if (review.version > 1) article.append(versionsBlock(review, store))
  return article
}

/** What a connected reader can do with the reviews (features/market/votes.ts): vote and report. */
export interface ReviewActions {
  /** Shown above the list: what the reader can do, or why they cannot. */
  note?: HTMLElement
  /** The controls of one review, or undefined when it has none. */
  controls(review: Review): HTMLElement | undefined
}

/** "1 review hidden: its seller is not authorised by the brand", for the reviews that do not count. */
function hiddenNote(hidden: Review[], channels: Map<number, Channel>): HTMLElement | undefined {
  if (hidden.length === 0) return undefined
  const shops = [...new Set(hidden.map((r) => channels.get(r.merchant)?.name).filter((n): n is string => !!n))]
  const where = shops.length > 0 ? t('reviews.hiddenWhere', { shops: shops.join(t('text.listSep')) }) : ''
  return el('p', { class: 'hidden-reviews', role: 'note', 'data-hidden': String(hidden.length) }, tCount(hidden.length, 'reviews.hidden.one', 'reviews.hidden.many', { where }))
}

export interface ReviewListOptions {
  id: string
  title: string
  /** Words for an empty list, for people. */
  empty: string
  /** Link each review to the merchant it was bought at (not on that merchant's own page). */
  showMerchant: boolean
}

/**
 * A section of ranked reviews: the average, then the list, folded ones collapsed. Only the
 * reviews that count are shown (and averaged); the others are counted in a note saying why.
 */
export function renderReviews(
  all: Review[],
  channels: Map<number, Channel>,
  store: ContentStore,
  options: ReviewListOptions,
  actions?: ReviewActions,
): HTMLElement {
  const section = el('section', { class: 'market reviews', 'aria-labelledby': options.id }, el('h2', { id: options.id }, options.title))
  const reviews = all.filter((r) => r.counts)
  const hidden = hiddenNote(
    all.filter((r) => !r.counts),
    channels,
  )
  const average = averageRating(reviews)
  if (average === undefined) {
    section.append(el('p', { class: 'empty' }, options.empty))
    if (hidden) section.append(hidden)
    return section
  }
  section.append(
    el(
      'p',
      { class: 'average', 'data-average': average.toFixed(2), 'data-count': String(reviews.length) },
      el('strong', {}, t('reviews.outOf5', { rating: formatDecimal(average.toFixed(1)) })),
      tCount(reviews.length, 'reviews.from.one', 'reviews.from.many'),
    ),
    el('p', { class: 'summary' }, t('reviews.summary')),
  )
  if (hidden) section.append(hidden)
  if (actions?.note) section.append(actions.note)
  const list = el('ol', { class: 'review-list' })
  for (const review of reviews) {
    const article = reviewArticle(review, channels, store, options.showMerchant)
    const controls = actions?.controls(review)
    if (controls) article.append(controls)
    const item = el('li', { 'data-folded': String(review.folded) })
    if (review.folded) {
      item.append(el('details', { class: 'folded' }, el('summary', {}, t('review.folded', { reason: foldReason(review) })), article))
    } else {
      item.append(article)
    }
    list.append(item)
  }
  section.append(list)
  return section
}
